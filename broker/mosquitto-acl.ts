// broker/acl.ts in Mosquitto 2's acl_file language, for running the services against Mosquitto
// instead of our aedes broker (README "Other MQTT brokers"). Generated from the same tables, so the
// two cannot drift. What Mosquitto's ACL cannot express is listed in the README: the client-id
// binding (authorizeClientId) and the topic shapes parseTopic checks beyond the wildcards below.
// Format: https://mosquitto.org/man/mosquitto-conf-5.html (acl_file, `user`, `topic`, `pattern`, %u).
import { TOPIC_ROOT } from '../contracts/topics.ts';
import { PIPELINE_CLOCK_ROLES } from '../contracts/topics.ts';
import { derivePassword, SERVICE_ROLES, serviceUsername } from '../platform/credentials.ts';
import { PUBLISH_FAMILIES, SUBSCRIBE_FILTERS } from './acl.ts';

/** The acl_file text: one `user` block per service account, and `pattern` lines for the nodes. */
export function mosquittoAclFile(): string {
  const lines = [
    '# Generated from broker/acl.ts (broker/mosquitto-acl.ts). Nothing is allowed unless listed.',
    '# Nodes (any other account): only their own readings and status; %u is the username = node id.',
    `pattern write ${TOPIC_ROOT}/readings/%u`,
    `pattern write ${TOPIC_ROOT}/status/%u`,
    '',
  ];
  for (const role of SERVICE_ROLES) {
    lines.push(`user ${serviceUsername(role)}`);
    for (const filter of SUBSCRIBE_FILTERS[role]) lines.push(`topic read ${filter}`);
    for (const family of PUBLISH_FAMILIES[role]) {
      // A service's dead letters only under its own name (authorizePublish).
      lines.push(family === 'deadletter' ? `topic write ${TOPIC_ROOT}/deadletter/${role}` : `topic write ${TOPIC_ROOT}/${family}/#`);
    }
    if (role === 'simulator') lines.push(`topic write ${TOPIC_ROOT}/clock`);
    if ((PIPELINE_CLOCK_ROLES as readonly string[]).includes(role)) lines.push(`topic write ${TOPIC_ROOT}/clock/pipeline/${role}`);
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * The password_file input in `username:password` lines (plain text: `mosquitto_passwd -U <file>`
 * hashes it in place): every service account and every node, with the passwords our broker derives
 * from EWS_BROKER_SECRET, so the services and nodes connect to Mosquitto unchanged.
 */
export function mosquittoPlainPasswords(secret: string, nodeIds: Iterable<string>): string {
  const usernames = [...SERVICE_ROLES.map(serviceUsername), ...nodeIds];
  return usernames.map((u) => `${u}:${derivePassword(secret, u)}\n`).join('');
}
