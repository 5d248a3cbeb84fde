{
  "variables": {
    "sna_cflags": ["-std=c++17", "-O3", "-fno-math-errno", "-Wno-unused-parameter", "-Wno-psabi"]
  },
  "targets": [
    {
      "target_name": "mala_sna",
      "sources": ["sna.cc", "sna_kernel_generic.cc", "sna_kernel_generic_w8.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["<@(sna_cflags)", "-fexceptions"],
      "conditions": [
        ["target_arch=='x64'", {
          "defines": ["SNA_HAVE_X86_KERNELS"],
          "dependencies": ["sna_avx2", "sna_avx512"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "sna_avx2",
          "type": "static_library",
          "sources": ["sna_kernel_avx2.cc"],
          "cflags_cc!": ["-std=gnu++17"],
          "cflags_cc": ["<@(sna_cflags)", "-mavx2", "-mfma"]
        },
        {
          "target_name": "sna_avx512",
          "type": "static_library",
          "sources": ["sna_kernel_avx512.cc"],
          "cflags_cc!": ["-std=gnu++17"],
          "cflags_cc": ["<@(sna_cflags)", "-mavx2", "-mfma", "-mavx512f", "-mprefer-vector-width=512"]
        }
      ]
    }]
  ]
}
