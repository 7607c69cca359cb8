// hiredis: Redis's own C client, for the cluster's shared state (the `redis:` config block).
// Only its blocking API is used, on one dedicated thread per connection (see Redis/RedisClient).
#include <hiredis/hiredis.h>
#include <stdarg.h>

// redisCommandArgv with the Swift-friendly types: argv of C strings plus their lengths (binary-safe).
static inline redisReply *chiredis_command_argv(redisContext *c, int argc, const char **argv, const size_t *lens) {
    return (redisReply *)redisCommandArgv(c, argc, argv, lens);
}
