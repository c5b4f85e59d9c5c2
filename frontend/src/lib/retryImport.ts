// A code-split chunk that fails to load (a dropped connection, a network change mid-request)
// is asked for again before the editor gives up: one flaky request must not leave a panel blank.
export function retryImport<T>(load: () => Promise<T>, tries = 3, delayMs = 300): () => Promise<T> {
  return async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await load();
      } catch (err) {
        if (attempt >= tries) throw err;
        await new Promise((done) => setTimeout(done, delayMs * attempt));
      }
    }
  };
}
