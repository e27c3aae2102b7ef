export { startLwm2mServer, type Lwm2mServer, type Lwm2mSecureOptions } from './server.js';
export { DEFAULT_LWM2M_LIMITS, type Lwm2mHooks, type Lwm2mLimits } from './hooks.js';
