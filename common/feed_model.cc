#include "common/feed_model.h"
