#!/usr/bin/env node
import '../dist/msg.js';
