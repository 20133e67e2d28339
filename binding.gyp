{
  "targets": [
    {
      "target_name": "roomwire",
      "sources": [
        "native/addon/addon.cpp",
        "native/addon/app_wrap.cpp",
        "native/addon/js_dispatcher.cpp",
        "native/core/boost_asio_beast.cpp",
        "native/core/boost_json.cpp",
        "native/core/boost_url.cpp",
        "native/core/cluster.cpp",
        "native/core/deflate.cpp",
        "native/core/history.cpp",
        "native/core/hooks/compile.cpp",
        "native/core/hooks/machine.cpp",
        "native/core/http_session.cpp",
        "native/core/ids.cpp",
        "native/core/json_escape.cpp",
        "native/core/listener.cpp",
        "native/core/log.cpp",
        "native/core/metrics.cpp",
        "native/core/protocol.cpp",
        "native/core/protocols/events.cpp",
        "native/core/protocols/hooks.cpp",
        "native/core/protocols/raw.cpp",
        "native/core/protocols/rnode.cpp",
        "native/core/redis_client.cpp",
        "native/core/room_api.cpp",
        "native/core/room_registry.cpp",
        "native/core/router.cpp",
        "native/core/server.cpp",
        "native/core/static_files.cpp",
        "native/core/tls.cpp",
        "native/core/ws_parser.cpp",
        "native/core/ws_session.cpp"
      ],
      "include_dirs": [
        "native/core"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_ADDON_API_ENABLE_TYPE_CHECK_ON_AS",
        "BOOST_ASIO_SEPARATE_COMPILATION",
        "BOOST_BEAST_SEPARATE_COMPILATION",
        "BOOST_ASIO_NO_DEPRECATED",
        "BOOST_JSON_NO_LIB",
        "BOOST_URL_NO_LIB"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": [
        "-std=c++17", "-fexceptions", "-frtti", "-Wall", "-Wextra", "-Wshadow",
        "-isystem<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")"
      ],
      "libraries": ["-lpthread", "-l:libhiredis.a", "-lz"]
    }
  ]
}
