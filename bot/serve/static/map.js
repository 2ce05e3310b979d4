// The map (Leaflet, vendored): units and assignment sites coloured by light, inspection visits with their
// photos and flags. Without DUBAN_MAP_TILES the points stand on a plain background (works offline).
const COLOURS = { red: "#d93025", yellow: "#f6b400", green: "#1e8e3e", grey: "#9aa0a6" };
let map = null;
let layer = null;

import { photo } from "./app.js";
import { script } from "./vendor.js";

export async function showMap(node, note, points, me, tr) {
  await script("/dashboard/static/vendor/leaflet/leaflet.js");
  /* global L */
  if (!map) {
    map = L.map(node, { preferCanvas: false, attributionControl: Boolean(me.map_tiles) });
    if (me.map_tiles) L.tileLayer(me.map_tiles, { maxZoom: 18 }).addTo(map);
  }
  if (layer) layer.remove();
  layer = L.featureGroup().addTo(map);
  const dot = (lat, lon, light, radius, label) => L.circleMarker([lat, lon], {
    radius, color: "#202124", weight: 1, fillColor: COLOURS[light] || COLOURS.grey, fillOpacity: 0.9,
  }).bindTooltip(label).addTo(layer);
  for (const u of points.units) dot(u.lat, u.lon, u.light, 9, u.name);
  for (const s of points.sites) dot(s.lat, s.lon, s.light, 6, `${s.title} · ${s.unit}`);
  for (const v of points.visits) {
    const popup = document.createElement("div");
    popup.append(`${v.unit} · ${v.at.slice(0, 16).replace("T", " ")}`);
    for (const f of v.flags) {
      const span = document.createElement("span");
      span.className = "flag";
      span.textContent = tr(`dash.flag.${f}`);
      popup.append(" ", span);
    }
    const photos = document.createElement("div");
    photos.className = "photos";
    for (const id of v.photos) {
      const img = document.createElement("img");
      img.alt = tr("dash.photos");
      photos.append(photo(img, `/api/v1/evidence/${id}?thumb=1`));
    }
    popup.append(photos);
    L.circleMarker([v.lat, v.lon], { radius: 5, color: v.flags.length ? COLOURS.red : "#1a73e8", weight: 2,
      fillColor: "#fff", fillOpacity: 1 }).bindPopup(popup).addTo(layer);
  }
  const count = points.units.length + points.sites.length + points.visits.length;
  note.textContent = count ? `${tr("dash.units")} ${points.units.length} · ${tr("dash.sites")} ${points.sites.length} · ${tr("dash.visits")} ${points.visits.length}` : tr("dash.no_points");
  map.invalidateSize();
  if (count) map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 14 });
  else map.setView([30, 105], 4);
}
