export { startLwm2mServer, type Lwm2mServer } from './server.js';
export { DEFAULT_LWM2M_LIMITS, type Lwm2mHooks, type Lwm2mLimits } from './hooks.js';
