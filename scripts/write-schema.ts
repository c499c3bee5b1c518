// Writes schemas/schedule.schema.json, its compiled validator and docs/schedule-reference.md from the
// TypeBox definition and the kind tables (the single source of truth).
import { writeFileSync } from 'node:fs';
import { scheduleJsonSchema } from '../src/schedule/schema.js';
import { packageRoot } from '../src/core/paths.js';
import { VALIDATOR_FILE, validatorSource } from '../src/schedule/validator.js';
import { REFERENCE_FILE, scheduleReference } from '../src/schedule/reference.js';

writeFileSync(`${packageRoot()}/schemas/schedule.schema.json`, `${JSON.stringify(scheduleJsonSchema(), null, 2)}\n`);
process.stdout.write('wrote schemas/schedule.schema.json\n');

writeFileSync(`${packageRoot()}/${VALIDATOR_FILE}`, validatorSource());
process.stdout.write(`wrote ${VALIDATOR_FILE}\n`);

writeFileSync(`${packageRoot()}/${REFERENCE_FILE}`, scheduleReference());
process.stdout.write(`wrote ${REFERENCE_FILE}\n`);
