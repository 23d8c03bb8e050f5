// Customer sync page. Links to Airflow's own pages (DAG runs) carry data-airflow-link: inside the
// Airflow UI this page is a sandboxed same-origin iframe that may not navigate the top window, so
// the link is handed to the UI's router (history.pushState + popstate on the parent); outside an
// iframe, or if that is not possible, it is an ordinary link.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-airflow-link]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
      return;
    }
    if (window.parent === window) {
      return;
    }
    try {
      var target = new URL(link.href, window.location.href);
      if (target.origin !== window.parent.location.origin) {
        return;
      }
      window.parent.history.pushState({}, "", target.pathname + target.search + target.hash);
      window.parent.dispatchEvent(new PopStateEvent("popstate", { state: {} }));
      event.preventDefault();
    } catch (e) {
      // fall back to navigating this frame
    }
  });
})();
