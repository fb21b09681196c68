#include <criterion/criterion.h>
#include "abuse-util.h"
Test(stub, udp, .timeout = 5) { }
