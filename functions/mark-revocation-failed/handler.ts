import { markRevocationFailed } from '../../shared/core/grants/tasks.ts'
import { taskHandler } from '../runtime/task-handler.ts'
import { failureTask } from '../runtime/task-inputs.ts'

export const { raw, handler } = taskHandler(failureTask, markRevocationFailed)
