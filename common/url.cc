#include "common/url.h"
