// Stops what test/global-setup.cjs started (nothing, when the servers were already running).
module.exports = async () => {
  for (const stop of (globalThis.__flotillaTestServices ?? []).reverse()) await stop().catch(() => {});
};
