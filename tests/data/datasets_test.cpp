// The job's sets from a dataset description (data/datasets.h): Fashion-MNIST
// keeps exactly its old split, a source without a validation or test split
// gets them carved from train, disjoint and reproducible.
#include "data/datasets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data/sampling.h"

namespace condenser {
namespace {

DatasetInfo info_with(int64_t train, int64_t validation, int64_t test) {
  DatasetInfo info;
  info.kind = "hdf5";
  info.sample_shape = {6};
  info.num_classes = 3;
  info.train_rows = train;
  info.validation_rows = validation;
  info.test_rows = test;
  return info;
}

TEST(DatasetSplits, WithATestSplitTheSplitIsTheOneFashionMnistAlwaysHad) {
  const SplitPlan plan = plan_splits(info_with(500, 0, 100), 50, 0, 42);
  const TrainValSplit old = make_train_val_split(500, 50, 0, 42);
  EXPECT_EQ(plan.train, old.train);
  EXPECT_EQ(plan.validation, old.validation);
  EXPECT_TRUE(plan.test.empty());
  const SetRows test = test_rows(info_with(500, 0, 100), plan, 30);
  EXPECT_EQ(test.split, "test");
  ASSERT_EQ(test.rows.size(), 30u);
  EXPECT_EQ(test.rows.back(), 29);
}

TEST(DatasetSplits, MissingValidationAndTestAreCarvedDisjointFromTrain) {
  const DatasetInfo info = info_with(500, 0, 0);
  const SplitPlan plan = plan_splits(info, 60, 0, 7);
  EXPECT_EQ(plan.validation.size(), 60u);
  EXPECT_EQ(plan.test.size(), 60u);
  EXPECT_EQ(plan.train.size(), 380u);
  std::set<int64_t> all(plan.train.begin(), plan.train.end());
  all.insert(plan.validation.begin(), plan.validation.end());
  all.insert(plan.test.begin(), plan.test.end());
  EXPECT_EQ(all.size(), 500u);  // every row in exactly one set
  EXPECT_TRUE(std::is_sorted(plan.train.begin(), plan.train.end()));
  EXPECT_TRUE(std::is_sorted(plan.test.begin(), plan.test.end()));
  const SplitPlan again = plan_splits(info, 60, 0, 7);
  EXPECT_EQ(again.test, plan.test);
  EXPECT_EQ(again.train, plan.train);
  EXPECT_NE(plan_splits(info, 60, 0, 8).test, plan.test);  // the seed decides
  EXPECT_EQ(validation_rows(info, plan).split, "train");
  EXPECT_EQ(test_rows(info, plan, 0).rows, plan.test);
  EXPECT_EQ(test_rows(info, plan, 10).rows.size(), 10u);
  // A train subset is cut from what the carves leave.
  EXPECT_EQ(plan_splits(info, 60, 100, 7).train.size(), 100u);
  EXPECT_EQ(plan_splits(info, 60, 100, 7).test, plan.test);
}

TEST(DatasetSplits, AnOwnValidationSplitIsUsedWhole) {
  const DatasetInfo info = info_with(300, 40, 0);
  const SplitPlan plan = plan_splits(info, 25, 0, 3);
  EXPECT_TRUE(plan.validation.empty());
  EXPECT_EQ(plan.test.size(), 25u);
  EXPECT_EQ(plan.train.size(), 275u);
  const SetRows v = validation_rows(info, plan);
  EXPECT_EQ(v.split, "validation");
  EXPECT_EQ(v.rows.size(), 40u);
}

TEST(DatasetSplits, DescribesShapes) {
  EXPECT_EQ(info_with(1, 0, 1).shape_text(), "6");
  DatasetInfo images = info_with(1, 0, 1);
  images.sample_shape = {3, 32, 32};
  EXPECT_EQ(images.shape_text(), "3x32x32");
  EXPECT_EQ(images.batch_shape_text(), "[N, 3, 32, 32]");
  EXPECT_TRUE(images.is_image());
  EXPECT_FALSE(info_with(1, 0, 1).is_image());
}

}  // namespace
}  // namespace condenser
