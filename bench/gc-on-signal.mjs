// Preloaded into the hub process by bench/ingest.mjs (`node --expose-gc --import …`): SIGUSR2 runs
// a full garbage collection, so the memory per idle connection is read after one, as for Mosquitto
// (which has no collector). Without --expose-gc it does nothing.
if (typeof globalThis.gc === 'function') process.on('SIGUSR2', () => globalThis.gc());
