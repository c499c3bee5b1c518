// Writes schemas/schedule.schema.json from the TypeBox definition (the single source of truth).
import { writeFileSync } from 'node:fs';
import { scheduleJsonSchema } from '../src/schedule/schema.js';
import { packageRoot } from '../src/core/paths.js';
import { VALIDATOR_FILE, validatorSource } from '../src/schedule/validator.js';

writeFileSync(`${packageRoot()}/schemas/schedule.schema.json`, `${JSON.stringify(scheduleJsonSchema(), null, 2)}\n`);
process.stdout.write('wrote schemas/schedule.schema.json\n');

writeFileSync(`${packageRoot()}/${VALIDATOR_FILE}`, validatorSource());
process.stdout.write(`wrote ${VALIDATOR_FILE}\n`);
