/** Where the registry reads the time it writes into records (creation, deletion, condition transitions). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
