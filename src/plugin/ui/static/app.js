// The web view of `kubectl release ui`: a hash router between the Releases page and a Release page.
// Moving between them changes only the fragment, so the document (and its connection) stays.
import { releasePage } from './release.js';
import { releasesPage } from './releases.js';

/** @type {(() => void) | undefined} */
let closeCurrent;

function route() {
  const main = document.getElementById('main');
  if (!main) return;
  closeCurrent?.();
  const match = /^#\/release\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (match) {
    const namespace = decodeURIComponent(match[1] ?? '');
    const name = decodeURIComponent(match[2] ?? '');
    document.title = `Release ${namespace}/${name}`;
    closeCurrent = releasePage(main, namespace, name);
  } else {
    document.title = 'Releases';
    closeCurrent = releasesPage(main);
  }
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
document.addEventListener('keydown', (e) => {
  const target = /** @type {HTMLElement | null} */ (e.target);
  if (e.key === 'Escape' && location.hash.startsWith('#/release/') && target?.tagName !== 'INPUT') {
    location.hash = '#/';
  }
});
route();
