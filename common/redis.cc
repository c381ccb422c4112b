#include "common/redis.h"
