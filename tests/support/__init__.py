"""What the tests build their data with: real photos copied from ../shared/data, synthetic sets
(near duplicates, bursts, RAW files, hostile files), imported as ``support.<module>`` by tests and
benchmarks alike."""
