// @fiml/simulator: a deterministic simulated market and upstream providers,
// for development, tests and benchmarks. The same seed gives the same prices,
// news and earnings in every process; served in-process (SimulatedProvider) or
// over HTTP (`sim-provider` command, read by @fiml/providers' SimHttpProvider).
export { gaussian, hash32, sampleLatency, toSeed, unit } from './random.js';
export { walkAt } from './price-walk.js';
export {
  WELL_KNOWN_CRYPTO,
  WELL_KNOWN_EQUITIES,
  simulatedUniverse,
  type Universe,
  type UniverseOptions,
} from './universe.js';
export { SimulatedMarket, isoDay, type SimulatedMarketOptions } from './simulated-market.js';
export {
  SimulatedUpstream,
  type SimulatedUpstreamOptions,
  type UpstreamAnswer,
} from './simulated-upstream.js';
export {
  SimulatedProvider,
  createSimulatedProviders,
  type SimulatedProviderOptions,
  type SimulatedProvidersOptions,
} from './simulated-provider.js';
export {
  startSimulatedProviderServer,
  type SimulatedProviderServer,
  type SimulatedProviderServerOptions,
} from './simulated-provider-server.js';
