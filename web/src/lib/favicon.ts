/** Past this the badge reads "99+": three digits no longer fit a tab's icon. */
const MOST = 99;

/** The tab's icon: an envelope, with the unread count on a red badge when there is any, so a background tab tells of new mail. */
export function faviconSvg(unread: number): string {
  const label = unread > MOST ? `${MOST}+` : String(unread);
  const badge =
    unread > 0
      ? `<circle cx="23" cy="9" r="9" fill="#d93025"/><text x="23" y="13" font-family="sans-serif" font-size="${label.length > 2 ? 8 : 11}" font-weight="bold" fill="#fff" text-anchor="middle">${label}</text>`
      : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="9" width="26" height="18" rx="3" fill="#3b6fd8"/><path d="M3 11l12 9 12-9" fill="none" stroke="#fff" stroke-width="2"/>${badge}</svg>`;
}

/** The icon as a data: URL, which the app's CSP allows for images (a favicon is one). */
export function faviconUrl(unread: number): string {
  return `data:image/svg+xml,${encodeURIComponent(faviconSvg(unread))}`;
}

/** Points the page's icon link at the icon for this count, adding the link the first time. */
export function showFavicon(unread: number): void {
  let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (link === null) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.append(link);
  }
  link.href = faviconUrl(unread);
}
