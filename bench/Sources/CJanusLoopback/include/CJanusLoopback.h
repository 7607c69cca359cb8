#pragma once
// LD_PRELOAD shim for the load driver's Janus process: see janus_loopback.c.
