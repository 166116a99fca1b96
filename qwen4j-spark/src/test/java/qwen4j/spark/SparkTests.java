package qwen4j.spark;

import org.apache.spark.sql.SparkSession;

/** One local Spark session for the module's tests (starting one takes seconds). */
final class SparkTests {
    private SparkTests() {}

    private static SparkSession spark;

    static synchronized SparkSession local() {
        if (spark == null) {
            spark = SparkSession.builder().master("local[2]").appName("qwen4j-spark-test")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(spark::stop));
        }
        return spark;
    }

    /** Stops the local session (one SparkContext per JVM: a test that needs another stops this one first). */
    static synchronized void stopLocal() {
        if (spark != null) spark.stop();
        spark = null;
    }
}
