{
  "targets": [
    {
      "target_name": "order_engine_native",
      "sources": ["native/addon.cc", "native/crash-report.cc", "native/murmur2.cc", "native/packed-consumer.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(module_root_dir)/node_modules/node-rdkafka/build/deps/include"
      ],
      "libraries": [
        "-L<(module_root_dir)/node_modules/node-rdkafka/build/deps",
        "-lrdkafka",
        "-Wl,-rpath,'$$ORIGIN/../../node_modules/node-rdkafka/build/deps'"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-O3", "-std=c++17", "-Wno-ignored-qualifiers"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
