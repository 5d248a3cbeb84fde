{
  "targets": [
    {
      "target_name": "mala_mpi",
      "sources": ["mala_mpi.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node mpi-config.js include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "libraries": ["-lfftw3_mpi", "-lfftw3", "-lm", "<!@(node mpi-config.js libs)"]
    }
  ]
}
