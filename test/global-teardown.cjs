// Stops what test/global-setup.cjs started (nothing, when the servers were already running), the
// Redis before the Postgres. Should jest die first, each database's keeper stops it anyway.
module.exports = async () => {
  for (const stop of (globalThis.__flotillaTestServices ?? []).reverse()) await stop().catch(() => {});
};
