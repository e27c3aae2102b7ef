export { decodeTlv, encodeTlv, tlvBytes, tlvValue } from './tlv.js';
export type { TlvEntry, TlvKind, Lwm2mType, Lwm2mValue } from './tlv.js';
export { decodeContent, LWM2M_FORMATS, type Lwm2mRecord } from './content.js';
export { parsePath, formatPath, type Lwm2mPath } from './path.js';
export { resourceType } from './model.js';
export { parseObjectLinks, MAX_OBJECT_LINKS, type Lwm2mObjectLink } from './link-format.js';
export {
  Lwm2mRequestError,
  type Lwm2mBinding,
  type Lwm2mEnd,
  type Lwm2mLink,
  type Lwm2mRegistration,
  type Lwm2mSecurity,
  type Lwm2mAttributes,
} from './registration.js';
export { isLwm2mCommand, runLwm2mCommand, LWM2M_READ_COMMANDS } from './commands.js';
export {
  attributeQuery,
  checkAttributes,
  checkAttributesPath,
  checkCreate,
  checkDelete,
  BOOTSTRAP_ONLY_OBJECTS,
} from './operations.js';
export { encodeSenmlCbor, readSenmlCbor } from './senml-cbor.js';
export { decodeCbor, encodeCbor, CborError, type CborValue } from './cbor.js';
export { desiredOf, mergeRecords, valueAt, type Lwm2mDesired } from './twin-shape.js';
export { Lwm2mService, LWM2M_TAG, type Lwm2mDeps, type Lwm2mLogger } from './lwm2m-service.js';
export { Lwm2mFirmware, type Lwm2mFirmwareDeps } from './firmware.js';
export {
  Lwm2mFirmwareUrls,
  FIRMWARE_URL_SECONDS,
  type FirmwareDownloadGrant,
} from './firmware-url.js';
export { fwReport, FW, FW_STATE, FW_RESULT_FAILURES } from './firmware-states.js';
export { Lwm2mBootstrap, type Lwm2mBootstrapPlan, type Lwm2mBootstrapStep } from './bootstrap.js';
export { Lwm2mOperations, MAX_OPEN_LWM2M_REQUESTS } from './operations-queue.js';
