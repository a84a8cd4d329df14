#include "batch/sealed_batch.h"

#include "compress/gzip_chunks.h"

namespace shardhose::batch {

void Finish(SealedBatch* b) {
  if (b->runs.empty()) return;
  if (b->gzip) {
    uint64_t compressed = 0;
    for (auto& run : b->runs) {
      run->Finish();
      compressed += run->body().size();
    }
    b->body.reserve(compressed + 20);
    if (b->header) compress::AppendGzipHeader(&b->body);
    uint32_t crc = 0;
    for (auto& run : b->runs) {
      run->body().CopyTo(&b->body);
      crc = compress::Crc32Combine(crc, run->crc(), run->raw());
    }
    compress::AppendGzipTrailer(crc, b->total_bytes, &b->body);
  } else if (b->runs.size() == 1) {
    b->body = b->runs.front()->body().Take();
  } else {
    b->body.reserve(b->bytes);
    for (auto& run : b->runs) run->body().CopyTo(&b->body);
  }
  b->runs.clear();
}

}  // namespace shardhose::batch
