package redisstore_test

func stopAll() {}
