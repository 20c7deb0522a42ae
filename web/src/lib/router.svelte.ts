/** The dashboard's pages, addressed by the URL hash so that any server path serves the same app. */
export const PAGES = [
  { path: '/', title: 'Overview' },
  { path: '/devices', title: 'Devices' },
  { path: '/plugins', title: 'Plugins' },
  { path: '/rules', title: 'Rules' },
] as const;

export type PagePath = (typeof PAGES)[number]['path'];

function current(): PagePath {
  const path = location.hash.replace(/^#/, '') || '/';
  return PAGES.find((page) => page.path === path)?.path ?? '/';
}

export class Router {
  page = $state<PagePath>(current());

  start(): () => void {
    const update = (): void => {
      this.page = current();
      const title = PAGES.find((page) => page.path === this.page)?.title ?? 'Overview';
      document.title = `${title} · ninho`;
    };
    update();
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }
}
