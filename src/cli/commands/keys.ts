import type { Command } from 'commander';
import { createApiKey, generateKey, revokeApiKey } from '../../api/keys.js';
import { ROLE_PERMISSIONS } from '../../api/roles.js';
import { requireProject } from '../../config/project.js';
import { API_ROLES, type ApiRole } from '../../config/schema.js';
import { TagverseError } from '../../util/problems.js';
import { printJson, printLine } from '../output.js';

function role(v: string): ApiRole {
  if (!(API_ROLES as readonly string[]).includes(v)) {
    throw new TagverseError('keys.bad_role', `unknown role '${v}' (roles: ${API_ROLES.join(', ')})`);
  }
  return v as ApiRole;
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys for tagverse serve (stored hashed in tagverse.yaml)');
  keys
    .command('create')
    .description('create a key for a role and print it once (only its hash is stored)')
    .requiredOption('--role <role>', `one of ${API_ROLES.join(', ')}`)
    .option('--name <name>', 'who or what will use the key')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--print-only', 'do not write tagverse.yaml; print a TAGVERSE_API_KEYS entry instead')
    .option('--json', 'print the result as JSON')
    .action((o: { role: string; name?: string; project: string; printOnly?: boolean; json?: boolean }) => {
      const r = role(o.role);
      const { key, record } = o.printOnly
        ? generateKey(r, o.name)
        : createApiKey(requireProject(o.project), r, o.name);
      const env = `${record.id}:${record.role}:${record.hash}`;
      if (o.json)
        return printJson({ key, id: record.id, role: record.role, ...(o.printOnly ? { env } : {}) });
      printLine(key);
      process.stderr.write(
        o.printOnly
          ? `add to TAGVERSE_API_KEYS: ${env}\n`
          : `key ${record.id} (${record.role}) saved hashed in tagverse.yaml; this is the only time it is shown\n`,
      );
    });
  keys
    .command('list')
    .description('the keys in tagverse.yaml (ids and roles; keys themselves are never stored)')
    .option('-p, --project <dir>', 'project folder', '.')
    .option('--json', 'print the result as JSON')
    .action((o: { project: string; json?: boolean }) => {
      const list = requireProject(o.project).api.keys.map((k) => ({
        id: k.id,
        role: k.role,
        ...(k.name ? { name: k.name } : {}),
        ...(k.createdAt ? { createdAt: k.createdAt } : {}),
        permissions: ROLE_PERMISSIONS[k.role],
      }));
      if (o.json) return printJson(list);
      if (list.length === 0) printLine('no keys (tagverse keys create --role viewer)');
      for (const k of list) printLine(`${k.id}  ${k.role.padEnd(7)} ${k.name ?? ''}  ${k.createdAt ?? ''}`);
    });
  keys
    .command('revoke')
    .description('remove a key from tagverse.yaml')
    .argument('<id>', 'key id (as keys list shows it)')
    .option('-p, --project <dir>', 'project folder', '.')
    .action((id: string, o: { project: string }) => {
      revokeApiKey(requireProject(o.project), id);
      printLine(`revoked ${id}`);
    });
}
