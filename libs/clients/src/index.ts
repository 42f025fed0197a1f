// Clients of Flotilla's own services (registry, import jobs, cluster events), returning domain types.
export {};
