/*
 * Baseline for bench/engine.ts: the least a C program can do to run a SavedModel signature with
 * TF_SessionRun — load, build one float32 input, time N runs on one thread. jetserve's predict()
 * is compared against this in the same run.
 *
 * usage: savedmodel_run DIR INPUT_TENSOR OUTPUT_TENSOR "d0,d1,..." ITERATIONS INTRA INTER
 * prints: us_per_run=<float>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tensorflow/c/c_api.h>

static void check(TF_Status* s, const char* what) {
  if (TF_GetCode(s) != TF_OK) {
    fprintf(stderr, "%s: %s\n", what, TF_Message(s));
    exit(1);
  }
}

static TF_Output resolve(TF_Graph* g, const char* name) {
  char op[512];
  int index = 0;
  strncpy(op, name, sizeof op - 1);
  op[sizeof op - 1] = 0;
  char* colon = strrchr(op, ':');
  if (colon) {
    index = atoi(colon + 1);
    *colon = 0;
  }
  TF_Operation* oper = TF_GraphOperationByName(g, op);
  if (!oper) {
    fprintf(stderr, "no tensor %s\n", name);
    exit(1);
  }
  TF_Output out = {oper, index};
  return out;
}

static size_t put_varint(unsigned char* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (unsigned char)v;
  return n;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s DIR INPUT OUTPUT DIMS ITERATIONS INTRA INTER [remapper-off] [single-threaded]\n", argv[0]);
    return 2;
  }
  const char* dir = argv[1];
  int64_t dims[8];
  int rank = 0;
  for (char* tok = strtok(argv[4], ","); tok && rank < 8; tok = strtok(NULL, ",")) dims[rank++] = atoll(tok);
  const int iterations = atoi(argv[5]);
  const long intra = atol(argv[6]), inter = atol(argv[7]);

  TF_Status* s = TF_NewStatus();
  TF_SessionOptions* opts = TF_NewSessionOptions();
  unsigned char config[64];
  size_t len = 0;
  if (intra != 0) {
    config[len++] = 2 << 3;
    len += put_varint(config + len, (uint64_t)(int64_t)intra);
  }
  if (inter != 0) {
    config[len++] = 5 << 3;
    len += put_varint(config + len, (uint64_t)(int64_t)inter);
  }
  for (int i = 8; i < argc; i++) {
    if (strcmp(argv[i], "remapper-off") == 0) {
      // graph_options (10) { rewrite_options (10) { remapping (14): OFF (2) } }
      const unsigned char remapper_off[] = {10 << 3 | 2, 4, 10 << 3 | 2, 2, 14 << 3, 2};
      memcpy(config + len, remapper_off, sizeof remapper_off);
      len += sizeof remapper_off;
    } else if (strcmp(argv[i], "single-threaded") == 0) {
      // experimental (16) { executor_type (3): "SINGLE_THREADED_EXECUTOR" }
      static const char executor[] = "SINGLE_THREADED_EXECUTOR";
      const size_t n = sizeof executor - 1;
      const unsigned char head[] = {16 << 3 | 2, 1, (unsigned char)(n + 2), 3 << 3 | 2, (unsigned char)n};
      memcpy(config + len, head, sizeof head);
      memcpy(config + len + sizeof head, executor, n);
      len += sizeof head + n;
    } else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  TF_SetConfig(opts, config, len, s);
  check(s, "TF_SetConfig");
  TF_Graph* graph = TF_NewGraph();
  const char* tags[] = {"serve"};
  TF_Session* session = TF_LoadSessionFromSavedModel(opts, NULL, dir, tags, 1, graph, NULL, s);
  check(s, "load");
  TF_Output in = resolve(graph, argv[2]);
  TF_Output out = resolve(graph, argv[3]);

  size_t count = 1;
  for (int i = 0; i < rank; i++) count *= (size_t)dims[i];
  TF_Tensor* x = TF_AllocateTensor(TF_FLOAT, dims, rank, count * sizeof(float));
  float* data = (float*)TF_TensorData(x);
  for (size_t i = 0; i < count; i++) data[i] = (float)((i * 7919) % 1000) / 1000.0f;

  const int warmup = iterations / 10 + 1;
  double start = 0;
  for (int i = 0; i < warmup + iterations; i++) {
    if (i == warmup) start = now_us();
    TF_Tensor* y = NULL;
    TF_SessionRun(session, NULL, &in, &x, 1, &out, &y, 1, NULL, 0, NULL, s);
    check(s, "run");
    TF_DeleteTensor(y);
  }
  printf("us_per_run=%.3f\n", (now_us() - start) / iterations);
  TF_DeleteTensor(x);
  TF_CloseSession(session, s);
  TF_DeleteSession(session, s);
  TF_DeleteGraph(graph);
  TF_DeleteSessionOptions(opts);
  TF_DeleteStatus(s);
  return 0;
}
