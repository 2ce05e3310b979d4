// An assignment's chart (uPlot, vendored): the expected line over the year (from its milestones), the
// reports (claimed values) and the inspections' verified values, as points over time.
import { script } from "./vendor.js";

export async function renderChart(node, d, tr) {
  await script("/dashboard/static/vendor/uplot/uPlot.iife.min.js");
  const at = (iso) => Math.floor(new Date(iso.length === 10 ? `${iso}T00:00:00+08:00` : iso).getTime() / 1000);
  const rows = new Map();
  const put = (t, i, v) => {
    if (v === null || v === undefined) return;
    const row = rows.get(t) || [t, null, null, null];
    row[i] = Number(v);
    rows.set(t, row);
  };
  for (const p of d.line) put(at(p.date), 1, p.value);
  for (const r of d.reports) put(at(r.at), 2, r.value);
  for (const v of d.inspections) put(at(v.at), 3, v.verified);
  const sorted = [...rows.values()].sort((a, b) => a[0] - b[0]);
  const data = [0, 1, 2, 3].map((i) => sorted.map((r) => r[i]));
  const width = Math.max(280, Math.min(600, node.clientWidth || 600));
  const points = (stroke) => ({ stroke, fill: stroke, width: 0, points: { show: true, size: 9, fill: stroke }, paths: () => null });
  // eslint-disable-next-line no-undef
  new uPlot({
    width, height: 240,
    series: [{ label: tr("dash.date") }, { label: tr("dash.line"), stroke: "#1a73e8", width: 2, spanGaps: true, points: { show: false } },
      { label: tr("dash.reports"), ...points("#f29900") }, { label: tr("dash.inspections"), ...points("#d93025") }],
    axes: [{}, { size: 60 }],
    scales: { x: { time: true } },
  }, data, node);
}
