// Boost.URL compiled once for the whole core.
#include <boost/url/src.hpp>
