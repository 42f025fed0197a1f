import { credentials, Client as GrpcClient } from '@grpc/grpc-js';
import { internalCallDefaults } from '@flotilla/clients';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { ReadinessCheck } from '@flotilla/observability';

export function postgresReadinessCheck(dataSource: DataSource): ReadinessCheck {
  return {
    name: 'postgres',
    async check() {
      if (!dataSource.isInitialized) throw new Error('not connected');
      await dataSource.query('SELECT 1');
    },
  };
}

export function redisReadinessCheck(redis: Redis): ReadinessCheck {
  return {
    name: 'redis',
    async check() {
      if (redis.status !== 'ready') throw new Error(`connection is ${redis.status}`);
      await redis.ping();
    },
  };
}

/** Ready when the gRPC dependency answers grpc.health.v1 Check with SERVING (over internal mTLS when on). */
export function grpcReadinessCheck(name: string, target: string): ReadinessCheck {
  const client = new GrpcClient(target, internalCallDefaults().credentials ?? credentials.createInsecure());
  return {
    name,
    check() {
      return new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest<Buffer, Buffer>(
          '/grpc.health.v1.Health/Check',
          (arg) => arg,
          (buf) => buf,
          Buffer.alloc(0),
          { deadline: Date.now() + 1500 },
          (error, response) => {
            if (error) return reject(new Error(`${target}: ${error.details || error.message}`));
            // HealthCheckResponse { status = 1 (SERVING) } encodes as 08 01.
            if (response && response.length >= 2 && response[0] === 0x08 && response[1] === 0x01) return resolve();
            reject(new Error(`${target}: not serving`));
          },
        );
      });
    },
  };
}
