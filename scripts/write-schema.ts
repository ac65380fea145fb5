/** Regenerates schema/tagverse.schema.json from the zod schema: `npm run schema`. */
import { writeFileSync } from 'node:fs';
import { projectJsonSchemaText } from '../src/config/json-schema.js';
import { jsonSchemaPath } from '../src/packs/index.js';

writeFileSync(jsonSchemaPath(), projectJsonSchemaText());
console.log(`wrote ${jsonSchemaPath()}`);
