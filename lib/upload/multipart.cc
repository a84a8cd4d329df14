#include "upload/multipart.h"

#include <openssl/evp.h>

#include <utility>

namespace shardhose::upload {

struct MultipartObject::RunningMd5 {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  RunningMd5() { EVP_DigestInit_ex(ctx, EVP_md5(), nullptr); }
  ~RunningMd5() { EVP_MD_CTX_free(ctx); }
  void Update(std::string_view data) { EVP_DigestUpdate(ctx, data.data(), data.size()); }
  // The digest so far, without ending the running one.
  std::string Peek() const {
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    EVP_MD_CTX_copy_ex(copy, ctx);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(copy, out, &len);
    EVP_MD_CTX_free(copy);
    return std::string(reinterpret_cast<char*>(out), len);
  }
};

std::string Md5(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

MultipartObject::MultipartObject(std::string key, ObjectMeta meta)
    : key_(std::move(key)), meta_(std::move(meta)), whole_(std::make_unique<RunningMd5>()) {}

MultipartObject::~MultipartObject() = default;

Status MultipartObject::AddPart(ObjectStore* store, std::string_view body) {
  if (upload_id_.empty()) {
    auto id = store->CreateMultipart(key_, meta_);
    if (!id.ok()) return id.status();
    upload_id_ = std::move(id).value();
  }
  const int number = parts() + 1;
  auto etag = store->UploadPart(key_, upload_id_, number, body);
  if (!etag.ok()) {
    // Gone before it held anything: the next attempt starts a new one.
    if (etag.status().IsNotFound() && receipts_.empty()) upload_id_.clear();
    return etag.status();
  }
  receipts_.push_back(PartReceipt{number, std::move(etag).value()});
  part_md5s_.push_back(Md5(body));
  whole_->Update(body);
  size_ += body.size();
  return Status::OK();
}

Status MultipartObject::Complete(ObjectStore* store, bool if_absent) {
  return if_absent ? store->CompleteMultipartIfAbsent(key_, upload_id_, receipts_)
                   : store->CompleteMultipart(key_, upload_id_, receipts_);
}

Status MultipartObject::Abort(ObjectStore* store) {
  if (upload_id_.empty()) return Status::OK();
  return store->AbortMultipart(key_, upload_id_);
}

ObjectDigest MultipartObject::digest() const {
  ObjectDigest d;
  d.size = size_;
  d.md5 = whole_->Peek();
  d.part_md5s = part_md5s_;
  return d;
}

}  // namespace shardhose::upload
