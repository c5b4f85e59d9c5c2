// Light or dark, following the system: Bootstrap reads data-bs-theme on <html>.
export function followSystemTheme(root: HTMLElement = document.documentElement): () => void {
  const query = window.matchMedia?.("(prefers-color-scheme: dark)");
  const apply = () => root.setAttribute("data-bs-theme", query?.matches ? "dark" : "light");
  apply();
  query?.addEventListener?.("change", apply);
  return () => query?.removeEventListener?.("change", apply);
}
