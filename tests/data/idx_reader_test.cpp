// IDX reading (plain and gzipped), damaged files, and Fashion-MNIST loading
// (synthetic files always; the Debian dataset when it is installed).
#include "data/idx_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "tests/common/temp_dir.h"

namespace condenser {
namespace {

using Bytes = std::vector<uint8_t>;

using testing_util::TempDir;

// An IDX file of unsigned bytes: magic 00 00 08 <ndims>, big-endian dims, data.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes out = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes ramp(size_t n) {
  Bytes v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return v;
}

void write_plain(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), int(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// read_idx(path) throws UsageError whose message contains path and `needle`.
void expect_usage_error(const std::string& path, const std::string& needle) {
  try {
    read_idx(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' in: " << msg;
  }
}

TEST(IdxReader, ReadsPlainThreeDimensionalFile) {
  TempDir tmp;
  const std::string path = tmp.path + "/images-idx3-ubyte";
  const Bytes data = ramp(2 * 3 * 4);
  write_plain(path, idx_bytes({2, 3, 4}, data));
  const IdxArray a = read_idx(path);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(a.bytes, data);
}

TEST(IdxReader, ReadsGzippedFilesWithLargeDims) {
  TempDir tmp;
  const std::string path = tmp.path + "/labels-idx1-ubyte.gz";
  const Bytes data = ramp(70000);  // dims above 65535 need all four header bytes
  write_gz(path, idx_bytes({70000}, data));
  const IdxArray a = read_idx(path);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{70000}));
  EXPECT_EQ(a.bytes, data);
}

TEST(IdxReader, BadMagicIsAUsageErrorNamingTheFile) {
  TempDir tmp;
  const std::vector<Bytes> bad = {{0, 0, 0x09, 1, 0, 0, 0, 1, 5},  // signed bytes: not supported
                                  {1, 0, 0x08, 1, 0, 0, 0, 1, 5},  // nonzero leading byte
                                  {0, 0, 0x08, 0},                 // zero dimensions
                                  {0, 0, 0x08},                    // shorter than the magic
                                  {}};                             // empty file
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string path = tmp.path + "/bad" + std::to_string(i);
    write_plain(path, bad[i]);
    expect_usage_error(path, "magic");
    write_gz(path + ".gz", bad[i]);
    expect_usage_error(path + ".gz", "magic");
  }
}

TEST(IdxReader, TruncatedHeaderIsAUsageErrorNamingTheFile) {
  TempDir tmp;
  Bytes header = idx_bytes({2, 3, 4}, {});
  header.resize(4 + 4 + 2);  // the second dimension is cut short
  write_plain(tmp.path + "/h", header);
  expect_usage_error(tmp.path + "/h", "header");
  write_gz(tmp.path + "/h.gz", header);
  expect_usage_error(tmp.path + "/h.gz", "header");
}

TEST(IdxReader, TruncatedDataIsAUsageErrorNamingTheFile) {
  TempDir tmp;
  Bytes file = idx_bytes({10, 5}, ramp(50));
  file.pop_back();
  write_plain(tmp.path + "/d", file);
  expect_usage_error(tmp.path + "/d", "truncated");
  write_gz(tmp.path + "/d.gz", file);
  expect_usage_error(tmp.path + "/d.gz", "truncated");
}

TEST(IdxReader, CutGzipStreamIsAUsageErrorNamingTheFile) {
  TempDir tmp;
  const std::string path = tmp.path + "/cut.gz";
  write_gz(path, idx_bytes({3000}, ramp(3000)));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  expect_usage_error(path, "truncated");
}

TEST(IdxReader, MissingFileNamesTheDebianPackage) {
  TempDir tmp;
  expect_usage_error(tmp.path + "/train-images-idx3-ubyte.gz", "dataset-fashion-mnist");
}

TEST(IdxReader, HeadersWithoutSamplesAreRefusedNamingTheFile) {
  TempDir tmp;
  write_gz(tmp.path + "/n0.gz", idx_bytes({0, 28, 28}, {}));
  expect_usage_error(tmp.path + "/n0.gz", "holds no samples");
  write_plain(tmp.path + "/z", idx_bytes({5, 0, 28}, {}));
  expect_usage_error(tmp.path + "/z", "zero dimension");
}

TEST(IdxReader, HugeAnnouncedSizesAreRefusedBeforeAllocating) {
  TempDir tmp;
  // 10^12 bytes announced by a file of a few bytes: bad_alloc before.
  write_gz(tmp.path + "/huge.gz", idx_bytes({1000000, 1000, 1000}, ramp(10)));
  expect_usage_error(tmp.path + "/huge.gz", "more than the 1 GiB");
  // 2^31 * 2^31 * 4 = 2^64 wraps to 0 in 64 bits: must not read as empty.
  write_plain(tmp.path + "/wrap", idx_bytes({1u << 31, 1u << 31, 4}, ramp(10)));
  expect_usage_error(tmp.path + "/wrap", "more than the 1 GiB");
  // Just under the limit but the data is missing: fails fast, without 1 GiB.
  write_plain(tmp.path + "/short", idx_bytes({1u << 20, 1023}, ramp(10)));
  expect_usage_error(tmp.path + "/short", "truncated");
}

TEST(IdxReader, HeaderAndFirstRowsOnly) {
  TempDir tmp;
  const std::string path = tmp.path + "/rows.gz";
  write_gz(path, idx_bytes({50, 2, 3}, ramp(300)));
  const IdxHeader header = read_idx_header(path);
  EXPECT_EQ(header.dims, (std::vector<int64_t>{50, 2, 3}));
  EXPECT_EQ(header.data_bytes, 300u);
  const IdxArray first = read_idx_rows(path, 4);
  EXPECT_EQ(first.dims, header.dims);
  const Bytes all = ramp(300);
  EXPECT_EQ(first.bytes, Bytes(all.begin(), all.begin() + 24));
  EXPECT_EQ(read_idx_rows(path, 80).bytes, ramp(300));  // fewer rows than asked: all of them
}

constexpr uint32_t kSide = 28;
constexpr size_t kPixels = kSide * kSide;

// A miniature Fashion-MNIST split: n_images of side x side, n_labels labels.
void write_mini_fashion(const std::string& dir, const std::string& split, const Bytes& pixels,
                        const Bytes& labels, uint32_t n_images, uint32_t n_labels,
                        uint32_t side = kSide) {
  write_gz(dir + "/" + split + "-images-idx3-ubyte.gz", idx_bytes({n_images, side, side}, pixels));
  write_gz(dir + "/" + split + "-labels-idx1-ubyte.gz", idx_bytes({n_labels}, labels));
}

Bytes ten_classes(size_t n) {
  Bytes labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = static_cast<uint8_t>((i * 3) % 10);
  return labels;
}

TEST(FashionMnist, LoadsScaledImagesLabelsAndFingerprint) {
  TempDir tmp;
  Bytes pixels = ramp(20 * kPixels);
  pixels[0] = 0;
  pixels[1] = 255;
  const Bytes labels = ten_classes(20);
  write_mini_fashion(tmp.path, "train", pixels, labels, 20, 20);
  const ImageDataset ds = load_fashion_mnist(tmp.path, /*train=*/true);
  ASSERT_EQ(ds.size(), 20);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{20, 1, 28, 28}));
  EXPECT_EQ(ds.images.scalar_type(), torch::kFloat32);
  EXPECT_EQ(ds.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(ds.num_classes, 10);
  const at::Tensor expected =
      torch::tensor(std::vector<float>(pixels.begin(), pixels.end())).div_(255.0f);
  EXPECT_TRUE(torch::allclose(ds.images.flatten(), expected));
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(ds.labels[i].item<int64_t>(), labels[size_t(i)]);
  Bytes both = pixels;  // the fingerprint hashes image bytes, then label bytes
  both.insert(both.end(), labels.begin(), labels.end());
  EXPECT_EQ(ds.fingerprint, sha256_hex(both.data(), both.size()));
  // The header-only check and the first images agree with the full load.
  EXPECT_EQ(check_fashion_mnist_split(tmp.path, true), 20);
  const at::Tensor first = fashion_mnist_first_images(tmp.path, true, 4);
  EXPECT_TRUE(torch::equal(first, ds.images.slice(0, 0, 4)));
}

// Both the header check and the full load refuse, naming `file` and `needle`.
void expect_split_refused(const std::string& dir, const std::string& file,
                          const std::string& needle) {
  for (int full = 0; full < 2; ++full) {
    try {
      if (full) {
        load_fashion_mnist(dir, false);
      } else {
        check_fashion_mnist_split(dir, false);
      }
      ADD_FAILURE() << "no error for " << file;
    } catch (const UsageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(dir + "/" + file), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' in: " << msg;
    }
  }
}

TEST(FashionMnist, InconsistentFilesAreUsageErrors) {
  TempDir tmp;
  Bytes labels = ten_classes(20);
  write_mini_fashion(tmp.path, "t10k", ramp(20 * kPixels), labels, 20, 19);  // 20 images, 19 labels
  expect_split_refused(tmp.path, "t10k-labels-idx1-ubyte.gz", "19 labels");
  for (auto& l : labels) l %= 5;  // only 5 classes
  write_mini_fashion(tmp.path, "t10k", ramp(20 * kPixels), labels, 20, 20);
  expect_split_refused(tmp.path, "t10k-labels-idx1-ubyte.gz", "has 5 classes (labels 0..4)");
  labels[7] = 12;  // a label past the classes
  write_mini_fashion(tmp.path, "t10k", ramp(20 * kPixels), labels, 20, 20);
  expect_split_refused(tmp.path, "t10k-labels-idx1-ubyte.gz", "has 13 classes");
  try {
    load_fashion_mnist(tmp.path + "/nowhere", true);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos);
  }
}

TEST(FashionMnist, OtherImageSizesAndEmptySplitsAreRefused) {
  TempDir tmp;
  write_mini_fashion(tmp.path, "t10k", ramp(20 * 100), ten_classes(20), 20, 20, /*side=*/10);
  expect_split_refused(tmp.path, "t10k-images-idx3-ubyte.gz", "10x10 images");
  write_mini_fashion(tmp.path, "t10k", {}, {}, 0, 0);
  expect_split_refused(tmp.path, "t10k-images-idx3-ubyte.gz", "holds no samples");
}

TEST(FashionMnist, DebianTestSplitIsBalancedAndFingerprinted) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  const ImageDataset ds = load_fashion_mnist(dir, /*train=*/false);
  ASSERT_EQ(ds.size(), 10000);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_GE(ds.images.min().item<float>(), 0.0f);
  EXPECT_LE(ds.images.max().item<float>(), 1.0f);
  EXPECT_EQ(ds.num_classes, 10);
  const at::Tensor counts = torch::bincount(ds.labels);
  ASSERT_EQ(counts.numel(), 10);
  EXPECT_TRUE(counts.eq(1000).all().item<bool>()) << counts;
  EXPECT_TRUE(
      torch::equal(ds.labels.slice(0, 0, 4), torch::tensor(std::vector<int64_t>{9, 2, 1, 1})));
  EXPECT_NEAR(ds.images[0].sum().item<double>(), 33456.0 / 255.0, 1e-3);
  // Computed once in Python: sha256(image bytes after the 16-byte header ||
  // label bytes after the 8-byte header). Soft-label caches are keyed by it.
  EXPECT_EQ(ds.fingerprint, "9f1ec356a747bfe4ebab3cfb722d3694c9ca737e2570f6f90cf31d7b6fd689d4");
  EXPECT_EQ(load_fashion_mnist(dir, false).fingerprint, ds.fingerprint);
}

}  // namespace
}  // namespace condenser
