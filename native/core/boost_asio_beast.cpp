// Asio and Beast compiled once for the whole core (BOOST_*_SEPARATE_COMPILATION), so the
// other translation units only parse declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
