import type { Command } from '../command.js';
import { alertCommands } from './alerts.js';
import { notifyCommands } from './notify.js';
import { mitigationCommands } from './mitigations.js';
import { apiKeyCommands } from './api-key.js';
import { auditCommands } from './audit.js';
import { checkCommands } from './checks.js';
import { ruleCommands } from './rules.js';
import { detectCommands } from './detect.js';
import { channelCommands } from './channel.js';
import { deviceCommands } from './device.js';
import { commandCommands } from './device-command.js';
import { deviceEnrollCommands } from './device-enroll.js';
import { deviceKeyCommands } from './device-keys.js';
import { deviceLwm2mCommands } from './device-lwm2m.js';
import { deviceImportCommands } from './device-import.js';
import { provisioningCommands } from './provisioning.js';
import { firmwareCommands } from './firmware.js';
import { firmwareRepoCommands } from './firmware-repo.js';
import { firmwareAdvisoryCommands } from './firmware-advisory.js';
import { rolloutCommands } from './rollout.js';
import { firmwareCurrentCommands } from './firmware-current.js';
import { updateCommands } from './update.js';
import { keysCommands } from './keys.js';
import { locationCommands } from './location.js';
import { orgCommands } from './org.js';
import { pkiCommands } from './pki.js';
import { presenceCommands } from './presence.js';
import { logsCommands } from './logs.js';
import { sessionCommands } from './session.js';
import { ticketCommands } from './ticket.js';
import { connectCommands } from './connect.js';
import { twinCommands } from './twin.js';
import { userCommands } from './user.js';
import { userScopeCommands } from './user-scopes.js';

/** Every remote command, in the order `bulwark help` lists them. */
export const COMMANDS: readonly Command[] = [
  ...deviceEnrollCommands,
  ...deviceImportCommands,
  ...provisioningCommands,
  ...deviceCommands,
  ...deviceKeyCommands,
  ...deviceLwm2mCommands,
  ...twinCommands,
  ...commandCommands,
  ...presenceCommands,
  ...logsCommands,
  ...alertCommands,
  ...notifyCommands,
  ...mitigationCommands,
  ...ticketCommands,
  ...connectCommands,
  ...apiKeyCommands,
  ...userCommands,
  ...userScopeCommands,
  ...orgCommands,
  ...locationCommands,
  ...channelCommands,
  ...auditCommands,
  ...checkCommands,
  ...ruleCommands,
  ...detectCommands,
  ...sessionCommands,
  ...pkiCommands,
  ...keysCommands,
  ...firmwareCommands,
  ...firmwareRepoCommands,
  ...firmwareAdvisoryCommands,
  ...updateCommands,
  ...rolloutCommands,
  ...firmwareCurrentCommands,
];
