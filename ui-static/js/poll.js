// Views that update themselves: `fn` runs now and then every `ms`, not while
// the page is hidden, never twice at once. Returns the function that stops it.

export function poll(fn, ms) {
  let stopped = false;
  let timer = null;
  const run = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch {
        // fn shows its own failure; the next turn tries again.
      }
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  const wake = () => {
    if (!document.hidden && !stopped) {
      clearTimeout(timer);
      run();
    }
  };
  document.addEventListener('visibilitychange', wake);
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', wake);
  };
}
