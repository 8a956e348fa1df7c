'use strict';
/* The module tinypool loads in each child process: its default export runs
 * the kit. */
const kit = require('./chaos_adapter').kit();

module.exports = (id) => kit.run(id);
