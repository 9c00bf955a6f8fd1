#!/usr/bin/env node
import { main } from '../dist/server/src/cli.js';

await main(process.argv.slice(2), process.env);
