import type { AdmissionError } from '@bulwark/core';
import type { ConnectRefusal } from '../mqtt/hooks.js';

/**
 * The one place an admission refusal becomes a CONNACK reason code (MQTT 5 §3.2.2.2; the engine
 * maps it to a 3.1.1 return code): a wrong or dead secret is 0x86 Bad User Name or Password, a
 * refused certificate 0x87 Not authorized, a decommissioned device 0x8A Banned, a throttled source
 * 0x9F Connection rate exceeded, a source blocked by a mitigation 0x8A Banned (an administrative
 * action, MQTT 5 §3.2.2.2).
 */
export function admissionConnectCode(err: AdmissionError): ConnectRefusal {
  switch (err.reason) {
    case 'locked':
      return 0x9f;
    case 'decommissioned':
    case 'blocked':
      return 0x8a;
    case 'wrong_organization':
    case 'wrong_device':
    case 'quarantined':
      return 0x87;
    default:
      return err.credentialKind === 'certificate' ? 0x87 : 0x86;
  }
}
