// Boost.JSON compiled once for the whole core.
#include <boost/json/src.hpp>
