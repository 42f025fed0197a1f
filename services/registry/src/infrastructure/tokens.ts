/** Injection tokens of the registry's infrastructure (provided by InfrastructureModule). */
export const REGISTRY_DATA_SOURCE = Symbol('registry.data-source');
export const REDIS = Symbol('registry.redis');
export const CHANGE_LISTENER = Symbol('registry.change-listener');
export const CLOCK = Symbol('registry.clock');
