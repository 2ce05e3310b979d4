// The vendored libraries are loaded when first needed (the map, a chart), not before the board's first render.
const loading = new Map();

export function script(src) {
  if (!loading.has(src)) {
    loading.set(src, new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.append(tag);
    }));
  }
  return loading.get(src);
}
