package units

import "github.com/gin-gonic/gin"

// registerCore registers binding, operators, 参保登记, employees,
// 预处理数据 and declarations.
func (s *Handlers) registerCore(auth *gin.RouterGroup) {}
