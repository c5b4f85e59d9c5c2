/** A brick's icon: a Bootstrap Icons name ("hdd", "box-seam") or a short text such as an emoji. */
export function BrickIcon({ icon }: { icon?: string }) {
  if (!icon) return null;
  if (/^[a-z0-9-]+$/.test(icon)) return <i className={`bi bi-${icon} nbx-icon`} aria-hidden="true" />;
  return <span className="nbx-icon" aria-hidden="true">{icon}</span>;
}
